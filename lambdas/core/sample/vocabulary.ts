/**
 * Word lists for the realistic sample shop (shop.ts): real shops repeat names, streets, cities,
 * product words and phrases, and that repetition is what a backup's compressor feeds on. Random hex
 * text would make every codec look alike; these make the codecs differ the way they do on real data.
 * Order matters: skewed picks favour the front of a list, so the common values come first.
 */
export const FIRST_NAMES = [
  'James', 'Mary', 'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Sophia', 'Isabella', 'Mia', 'Lucas', 'Amelia', 'Ethan', 'Harper', 'Mason',
  'Evelyn', 'Logan', 'Abigail', 'Elijah', 'Emily', 'Oliver', 'Charlotte', 'Aiden', 'Madison', 'Jacob', 'Elizabeth', 'Daniel', 'Sofia',
  'Michael', 'Avery', 'Alexander', 'Ella', 'William', 'Scarlett', 'Benjamin', 'Grace', 'Henry', 'Chloe', 'Sebastian', 'Victoria',
  'Jack', 'Riley', 'Samuel', 'Aria', 'David', 'Lily', 'Joseph', 'Zoey', 'Carter', 'Hannah', 'Owen', 'Layla', 'Wyatt', 'Nora', 'John',
  'Camila', 'Luke', 'Penelope', 'Gabriel', 'Lucía', 'Mateo', 'Zoë', 'Julián', 'Renée', 'Björn', 'Aïsha', 'Kenji', 'Yuki', 'Priya', 'Ana',
];

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez',
  'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris',
  'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill',
  'Flores', 'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts', 'Müller', 'Schmidt',
  'Dubois', 'Rossi', "O'Brien", 'Kowalski', 'Tanaka', 'Silva', 'Novak', 'Jensen', 'Van der Berg', 'García-López',
];

export const EMAIL_DOMAINS = ['gmail.com', 'gmail.com', 'gmail.com', 'yahoo.com', 'hotmail.com', 'outlook.com', 'icloud.com', 'aol.com', 'proton.me', 'live.com', 'me.com', 'gmx.de', 'web.de', 'orange.fr'];

export const STREET_NAMES = [
  'Main', 'Oak', 'Pine', 'Maple', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park', 'Sunset', 'Highland', 'Church', 'Broadway',
  'Market', 'Mill', 'River', 'Spring', 'Ridge', 'Madison', 'Franklin', 'Lincoln', 'Jefferson', 'Chestnut', 'Walnut', 'Willow', 'Forest',
  'Meadow', 'Valley', 'Victoria', 'King', 'Queen', 'High', 'Station', 'Harbor', 'Bay', 'Ocean', 'Union', 'Center', 'Grove',
];
export const STREET_SUFFIXES = ['Street', 'Avenue', 'Road', 'Drive', 'Lane', 'Boulevard', 'Court', 'Place', 'Way', 'Terrace'];

/** [city, region, country, postal-code prefix]: the shop sells mostly at home, some abroad. */
export const CITIES: readonly (readonly [string, string, string, string])[] = [
  ['New York', 'NY', 'US', '100'], ['Los Angeles', 'CA', 'US', '900'], ['Chicago', 'IL', 'US', '606'], ['Houston', 'TX', 'US', '770'],
  ['Miami', 'FL', 'US', '331'], ['Austin', 'TX', 'US', '787'], ['Seattle', 'WA', 'US', '981'], ['Boston', 'MA', 'US', '021'],
  ['San Francisco', 'CA', 'US', '941'], ['Atlanta', 'GA', 'US', '303'], ['Denver', 'CO', 'US', '802'], ['Phoenix', 'AZ', 'US', '850'],
  ['Portland', 'OR', 'US', '972'], ['Nashville', 'TN', 'US', '372'], ['Philadelphia', 'PA', 'US', '191'], ['San Diego', 'CA', 'US', '921'],
  ['London', 'England', 'GB', 'SW1'], ['Manchester', 'England', 'GB', 'M1 '], ['Toronto', 'ON', 'CA', 'M5V'], ['Vancouver', 'BC', 'CA', 'V6B'],
  ['Paris', 'Île-de-France', 'FR', '750'], ['Berlin', 'Berlin', 'DE', '101'], ['Madrid', 'Madrid', 'ES', '280'], ['Milan', 'Lombardy', 'IT', '201'],
  ['Amsterdam', 'North Holland', 'NL', '101'], ['Sydney', 'NSW', 'AU', '200'], ['Tokyo', 'Tokyo', 'JP', '100'], ['São Paulo', 'SP', 'BR', '010'],
];

export const ADJECTIVES = ['Classic', 'Iconic', 'Essential', 'Vintage', 'Signature', 'Everyday', 'Relaxed', 'Slim', 'Oversized', 'Premium', 'Limited', 'Heritage', 'Urban', 'Coastal', 'Midnight', 'Golden'];
export const MATERIALS = ['Cotton', 'Linen', 'Leather', 'Silk', 'Wool', 'Denim', 'Cashmere', 'Suede', 'Canvas', 'Jersey', 'Velvet', 'Nylon'];
export const PRODUCT_NOUNS = ['Tee', 'Hoodie', 'Jacket', 'Dress', 'Jeans', 'Sneakers', 'Boots', 'Tote', 'Cap', 'Scarf', 'Belt', 'Sweater', 'Shirt', 'Shorts', 'Backpack', 'Candle', 'Blanket', 'Mug', 'Sunglasses', 'Watch'];
export const CATEGORIES = ['apparel', 'apparel', 'apparel', 'footwear', 'accessories', 'accessories', 'home', 'beauty', 'kids', 'sport'];
export const TAGS = ['new', 'bestseller', 'sale', 'summer', 'winter', 'classic', 'limited', 'organic', 'recycled', 'gift', 'unisex', 'exclusive', 'back-in-stock', 'vegan'];
export const COLORS = ['black', 'white', 'navy', 'grey', 'beige', 'olive', 'burgundy', 'gold', 'red', 'blue', 'pink', 'green'];
export const SIZES = ['M', 'L', 'S', 'XL', 'XS', 'XXL'];
export const FITS = ['regular', 'slim', 'relaxed', 'oversized'];
export const ORIGINS = ['Portugal', 'Italy', 'Turkey', 'India', 'Vietnam', 'China', 'USA', 'Peru'];
export const CARE = ['Machine wash cold', 'Hand wash only', 'Dry clean only', 'Wipe clean', 'Machine wash 30°C, do not tumble dry'];
export const WAREHOUSES = ['NJ-EWR-1', 'NJ-EWR-1', 'CA-LAX-2', 'TX-DFW-1', 'GB-LHR-1', 'NL-AMS-1'];

/** Sentences of product descriptions: shops write them from templates, so they repeat with variations. */
export const DESCRIPTION_SENTENCES = [
  'Crafted from premium materials for everyday comfort.',
  'A timeless piece that pairs with everything in your wardrobe.',
  'Designed in our studio and made in small batches.',
  'Soft to the touch and built to last season after season.',
  'Features a relaxed fit with a modern silhouette.',
  'Finished with signature gold hardware and contrast stitching.',
  'Pre-washed for a lived-in feel straight out of the box.',
  'Breathable, lightweight and perfect for layering.',
  'Ethically sourced and certified by independent auditors.',
  'Our best-selling style, now in new seasonal colours.',
  'Reinforced seams and a double-stitched hem for durability.',
  'Model is 6\'1" and wears a size M.',
  'Ships in plastic-free, recyclable packaging.',
  'Limited edition: once it is gone, it is gone.',
  'Adjustable straps and an interior pocket for your essentials.',
  'Fits true to size; size up for a looser look.',
];

export const REVIEW_TITLES = ['Love it!', 'Great quality', 'Perfect fit', 'Exactly as described', 'Runs small', 'Runs large', 'Beautiful colour', 'Worth every penny', 'Not what I expected', 'Fast shipping', 'Gorgeous', 'Okay for the price', 'Would buy again', 'Disappointed'];

export const REVIEW_SENTENCES = [
  'I absolutely love this and have worn it almost every day since it arrived.',
  'The quality is much better than I expected for the price.',
  'Shipping was fast and the packaging was beautiful.',
  'It runs a little small, so I would recommend sizing up.',
  'The colour is exactly like the photos on the website.',
  'I bought one for my sister as well and she loves it too.',
  'After a few washes it still looks brand new.',
  'The material feels soft and well made.',
  'Customer service was very helpful when I needed to exchange the size.',
  'Unfortunately the stitching came loose after two weeks.',
  'It is a bit pricey but worth it for the quality.',
  'I get compliments every time I wear it.',
  'The fit is perfect and very flattering.',
  'It took longer to arrive than I hoped, but it was worth the wait.',
  'Not as warm as I expected for winter.',
  'Five stars, would definitely order again.',
];

export const BIO_SENTENCES = [
  'Fashion lover and coffee addict.', 'Mom of two, always looking for comfy basics.', 'Based in Brooklyn.', 'Vintage collector.',
  'Runner, reader, traveller.', 'I review everything I buy.', 'Sustainable fashion advocate.', 'Designer by day, DJ by night.',
  'Dog person.', 'Living my best iconic life.', 'Sneakerhead since 2009.', 'Minimalist wardrobe, maximalist accessories.',
];

export const ORDER_NOTES = [
  'Please leave the package at the front door.', 'Gift wrap please, it is a birthday present.', 'Ring the bell twice.',
  'Deliver to the back entrance.', 'Leave with the concierge.', 'Please do not include the receipt, this is a gift.',
  'Call me on arrival.', 'Fragile, please pack carefully.',
];

/** Words for free text that follows no template (long reviews, long notes). */
export const COMMON_WORDS = [
  'the', 'and', 'it', 'is', 'a', 'to', 'I', 'this', 'was', 'for', 'my', 'of', 'with', 'very', 'but', 'so', 'in', 'on', 'love', 'great',
  'quality', 'size', 'fit', 'colour', 'really', 'just', 'after', 'wash', 'little', 'bit', 'nice', 'order', 'arrived', 'wear', 'soft',
  'again', 'would', 'recommend', 'perfect', 'looks', 'like', 'picture', 'material', 'comfortable', 'worth', 'price', 'gift', 'daughter',
  'husband', 'summer', 'winter', 'jacket', 'shoes', 'dress', 'because', 'although', 'however', 'definitely', 'returned', 'exchange',
];

export const PAYMENT_BRANDS = ['visa', 'visa', 'mastercard', 'amex', 'discover'];
export const PAYMENT_METHODS = ['card', 'card', 'card', 'paypal', 'apple_pay', 'google_pay', 'klarna'];
